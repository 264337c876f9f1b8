"""ledger.calendar: strict dates, days in China Standard Time, validity windows."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.calendar import LAST_DATED_MS, day_of, format_date, parse_date, window_covers
from ledger.errors import ValidationError

CST = dt.timezone(dt.timedelta(hours=8))


def ms(*args: int, tz: dt.tzinfo = dt.timezone.utc) -> int:
    return int(dt.datetime(*args, tzinfo=tz).timestamp() * 1000)


def test_parse_date_reads_iso_dates():
    assert parse_date("2026-02-28", "f") == dt.date(2026, 2, 28)
    assert parse_date("2028-02-29", "f") == dt.date(2028, 2, 29)


@pytest.mark.parametrize(
    "text",
    ["2026-2-28", "2026-02-30", "2027-02-29", "0000-01-01", "2026-02-28T00:00", " 2026-02-28", "20260228", "２０２６-02-28", "2026/02/28", 20260228, None],
)
def test_parse_date_rejects_anything_else_naming_the_field(text):
    with pytest.raises(ValidationError) as info:
        parse_date(text, "tx.body.valid_from")
    assert info.value.code == "validation.date" and info.value.field == "tx.body.valid_from"


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(1, 1, 1)))
def test_format_date_and_parse_date_round_trip(day):
    assert parse_date(format_date(day), "f") == day


def test_day_of_uses_utc_plus_8():
    # 2026-01-01T15:59:59.999Z is 23:59:59.999 in Beijing; one ms later it is the next day there.
    assert day_of(ms(2026, 1, 1, 15, 59, 59) + 999) == dt.date(2026, 1, 1)
    assert day_of(ms(2026, 1, 1, 16)) == dt.date(2026, 1, 2)
    assert day_of(ms(2026, 1, 1)) == dt.date(2026, 1, 1)
    assert day_of(0) == dt.date(1970, 1, 1)
    assert day_of(-8 * 3600 * 1000 - 1) == dt.date(1969, 12, 31)


@settings(max_examples=300, deadline=None)
@given(st.integers(-(10**13), 10**14))
def test_day_of_agrees_with_datetime_in_china_standard_time(time_ms):
    expected = (dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(milliseconds=time_ms)).astimezone(CST).date()
    assert day_of(time_ms) == expected


def test_window_covers_is_inclusive_at_both_ends_in_local_days():
    start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 31)
    assert window_covers(start, end, ms(2026, 3, 1, tz=CST))
    assert window_covers(start, end, ms(2026, 3, 31, 23, 59, 59, tz=CST))
    assert not window_covers(start, end, ms(2026, 2, 28, 23, 59, 59, tz=CST))
    assert not window_covers(start, end, ms(2026, 4, 1, tz=CST))
    # 2026-02-28T16:00Z is already March 1st in Beijing.
    assert window_covers(start, end, ms(2026, 2, 28, 16))


def test_window_without_end_never_ends():
    start = dt.date(2026, 3, 1)
    assert window_covers(start, None, ms(2999, 12, 31))
    assert not window_covers(start, None, ms(2026, 2, 28, tz=CST))


def test_the_last_dated_time_is_the_last_millisecond_of_9999_12_31_in_china_standard_time():
    assert day_of(LAST_DATED_MS) == dt.date(9999, 12, 31)
    assert dt.datetime.fromtimestamp(LAST_DATED_MS / 1000, dt.timezone(dt.timedelta(hours=8))).date() == dt.date(9999, 12, 31)
    with pytest.raises(OverflowError):
        day_of(LAST_DATED_MS + 1)  # falls on 10000-01-01: no date of domain.md §1
