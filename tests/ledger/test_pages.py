"""ledger.pages: pages of a key-ordered listing (docs/spec/domain.md §8.2): limit, budget,
the cursor of the last entry examined, and cursors refused outside their listing."""

from __future__ import annotations

import pytest

from ledger.encoding import b64encode
from ledger.errors import ValidationError
from ledger.pages import BUDGET_PER_ITEM, MAX_LIMIT, check_limit, collect, decode_cursor, encode_cursor, start_after

ENTRIES = [(f"p/{n:03d}".encode(), b"") for n in range(100)]


def keep_every(k: int):
    return lambda key, _: key if int(key[2:]) % k == 0 else None


def test_collect_stops_at_the_limit_with_the_cursor_of_the_last_item():
    items, cursor = collect(ENTRIES, keep_every(1), 10)
    assert items == [key for key, _ in ENTRIES[:10]] and decode_cursor(cursor, b"p/") == b"p/009"


def test_collect_ends_with_no_cursor_when_the_entries_end():
    assert collect(ENTRIES, keep_every(1), 100) == ([key for key, _ in ENTRIES], None)
    assert collect([], keep_every(1), 5) == ([], None)


def test_collect_stops_at_the_budget_for_a_sparse_filter():
    items, cursor = collect(ENTRIES, keep_every(50), 2)
    assert items == [b"p/000"] and decode_cursor(cursor, b"p/") == b"p/039"  # 2 · 20 entries examined
    assert BUDGET_PER_ITEM == 20
    items, cursor = collect(ENTRIES, keep_every(50), 3, budget=100)
    assert items == [b"p/000", b"p/050"] and cursor is None  # the budget is the whole listing
    items, cursor = collect(ENTRIES, keep_every(50), 2, budget=100)
    assert items == [b"p/000", b"p/050"] and decode_cursor(cursor, b"p/") == b"p/050"  # full, and more follow


def test_walking_pages_by_cursor_lists_every_item_once():
    found, after = [], None
    while True:
        start = start_after(b"p/", after)
        page, after = collect([e for e in ENTRIES if start is None or e[0] >= start], keep_every(7), 3)
        found += page
        if after is None:
            break
    assert found == [key for key, _ in ENTRIES if int(key[2:]) % 7 == 0]


def test_cursors_outside_their_listing_and_bad_limits_are_refused():
    assert start_after(b"p/", None) is None and start_after(b"p/", encode_cursor(b"p/007")) == b"p/007\x00"
    for bad in (None, "", "%%", "a" * 2000, b64encode(b"q/001"), b64encode(b"p/"), 7):
        with pytest.raises(ValidationError) as err:
            decode_cursor(bad, b"p/")
        assert (err.value.code, err.value.field) == ("query.bad_cursor", "after")
    assert check_limit(1) == 1 and check_limit(MAX_LIMIT) == MAX_LIMIT
    for bad in (0, MAX_LIMIT + 1, True, 2.0, "5"):
        with pytest.raises(ValidationError) as err:
            check_limit(bad)
        assert err.value.code == "query.limit"
