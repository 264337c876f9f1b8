"""node.http.deadlines: two deadlines, one timer, on a hand-driven clock."""

from __future__ import annotations

from node.http.deadlines import Deadlines


class Handle:
    def __init__(self, loop: FakeLoop, when: float, callback) -> None:
        self.loop, self.when, self.callback, self.cancelled = loop, when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """time() and call_at() on a clock moved by `advance`."""

    def __init__(self) -> None:
        self.now = 0.0
        self.handles: list[Handle] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback) -> Handle:
        handle = Handle(self, when, callback)
        self.handles.append(handle)
        return handle

    def advance(self, to: float) -> None:
        self.now = to
        for handle in sorted(self.handles, key=lambda h: h.when):
            if handle.when <= to and not handle.cancelled and handle in self.handles:
                self.handles.remove(handle)
                handle.callback()

    @property
    def armed(self) -> list[float]:
        return sorted(h.when for h in self.handles if not h.cancelled)


def make() -> tuple[FakeLoop, Deadlines, list[str]]:
    loop, expired = FakeLoop(), []
    return loop, Deadlines(loop, expired.append), expired  # type: ignore[arg-type]


def test_read_deadline_reports_its_reason_once():
    loop, deadlines, expired = make()
    deadlines.set_read(5.0, "keepalive")
    loop.advance(4.9)
    assert expired == []
    loop.advance(5.0)
    loop.advance(100.0)
    assert expired == ["keepalive"] and loop.armed == []


def test_moving_a_deadline_later_does_not_arm_another_timer():
    loop, deadlines, expired = make()
    deadlines.set_read(5.0, "keepalive")
    deadlines.set_read(10.0, "header")
    assert loop.armed == [5.0]
    loop.advance(5.0)  # the timer fires early, finds nothing due and re-arms for 10
    assert expired == [] and loop.armed == [10.0]
    loop.advance(10.0)
    assert expired == ["header"]


def test_an_earlier_deadline_re_arms_the_timer():
    loop, deadlines, expired = make()
    deadlines.set_read(30.0, "body")
    deadlines.set_write(2.0)
    assert loop.armed == [2.0]
    loop.advance(2.0)
    assert expired == ["write"] and loop.armed == [30.0]


def test_write_deadline_keeps_the_first_unless_told_otherwise():
    loop, deadlines, expired = make()
    deadlines.set_write(3.0)
    deadlines.set_write(8.0)
    assert deadlines.write == 3.0
    deadlines.set_write(8.0, keep=False)
    loop.advance(3.0)
    assert expired == []
    loop.advance(8.0)
    assert expired == ["write"]


def test_cleared_and_cancelled_deadlines_report_nothing():
    loop, deadlines, expired = make()
    deadlines.set_read(1.0, "header")
    deadlines.read = None
    loop.advance(1.0)
    deadlines.set_read(2.0, "body")
    deadlines.cancel()
    loop.advance(5.0)
    assert expired == [] and loop.armed == []
