"""Dates of the domain and how they relate to block times (docs/spec/domain.md §1).

Licence dates are `YYYY-MM-DD` calendar days in China Standard Time (UTC+8, no daylight saving);
block times are integer milliseconds since the Unix epoch. A day `d` covers time `t` when `t`
falls on `d` in UTC+8; a window of days covers `t` when its first day ≤ day(t) ≤ its last day.

Pure: every time is a parameter. This module must never read the clock or the local time zone.
"""

from __future__ import annotations

import datetime as dt
import re

from ledger.errors import ValidationError

#: China Standard Time is UTC+8 all year.
UTC_OFFSET_MS = 8 * 3600 * 1000
DAY_MS = 86_400_000
#: The last time that falls on a date (§1): 9999-12-31T23:59:59.999 in UTC+8.
LAST_DATED_MS = (dt.date(9999, 12, 31) - dt.date(1970, 1, 1)).days * DAY_MS + DAY_MS - 1 - UTC_OFFSET_MS

_EPOCH = dt.date(1970, 1, 1)
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(text: object, field: str) -> dt.date:
    """The calendar day written as `YYYY-MM-DD` (exactly that form, a real Gregorian date).

    Raises ValidationError "validation.date" naming `field` for any other text (missing zero
    padding, time parts, 2026-02-30, year 0000, ...).
    """
    if not isinstance(text, str) or not _DATE_RE.fullmatch(text):
        raise ValidationError(f"{field} must be a date YYYY-MM-DD, got {text!r}", code="validation.date", field=field)
    try:
        return dt.date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
    except ValueError as exc:
        raise ValidationError(f"{field}: {text} is not a calendar date ({exc})", code="validation.date", field=field) from exc


def format_date(day: dt.date) -> str:
    """`day` as `YYYY-MM-DD` (the inverse of `parse_date`)."""
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


def day_of(time_ms: int) -> dt.date:
    """The day in China Standard Time on which `time_ms` (ms since the epoch) falls.

    Precondition: `time_ms` ≤ LAST_DATED_MS (a later time falls on no date: OverflowError)."""
    return _EPOCH + dt.timedelta(days=(time_ms + UTC_OFFSET_MS) // DAY_MS)


def window_covers(valid_from: dt.date, valid_until: dt.date | None, time_ms: int) -> bool:
    """True when `valid_from ≤ day_of(time_ms) ≤ valid_until` (both inclusive; `valid_until`
    None means the window never ends)."""
    day = day_of(time_ms)
    return valid_from <= day and (valid_until is None or day <= valid_until)
