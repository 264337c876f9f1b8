"""Typed, size-checked field access for decoded canonical objects.

Transactions, blocks, commits and genesis documents arrive as decoded JSON (dicts of str, int,
bool, None, list). These helpers read one field each and raise `ValidationError` naming the
exact field path on any problem, so that every rejection says what was wrong and where.
They never coerce: a wrong type is an error, not a conversion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ledger.encoding import b64decode
from ledger.errors import EncodingError, ValidationError

_MAX_SAFE = (1 << 53) - 1


def expect_object(value: object, where: str) -> dict[str, object]:
    """`value` as a dict, or ValidationError "validation.type"."""
    if not isinstance(value, dict):
        raise ValidationError(f"{where} must be an object", code="validation.type", field=where)
    return value


def expect_keys(obj: dict[str, object], where: str, required: Iterable[str], optional: Iterable[str] = ()) -> None:
    """Exactly the `required` keys and any of `optional`; unknown or missing keys are errors."""
    required = tuple(required)
    allowed = set(required) | set(optional)
    for key in obj:
        if key not in allowed:
            raise ValidationError(f"{where}.{key} is not a known field", code="validation.unknown_field", field=f"{where}.{key}")
    for key in required:
        if key not in obj:
            raise ValidationError(f"{where}.{key} is required", code="validation.missing_field", field=f"{where}.{key}")


def get_str(obj: dict[str, object], key: str, where: str, *, pattern: re.Pattern[str] | None = None, max_len: int = 256, min_len: int = 1) -> str:
    """A string field of `min_len..max_len` characters, optionally matching `pattern` in full."""
    field = f"{where}.{key}"
    value = obj.get(key)
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string", code="validation.type", field=field)
    if not min_len <= len(value) <= max_len:
        raise ValidationError(f"{field} must be {min_len}..{max_len} characters, got {len(value)}", code="validation.length", field=field)
    if pattern is not None and not pattern.fullmatch(value):
        raise ValidationError(f"{field} does not match {pattern.pattern}", code="validation.format", field=field)
    return value


def get_int(obj: dict[str, object], key: str, where: str, *, minimum: int = 0, maximum: int = _MAX_SAFE) -> int:
    """An integer field (not a bool) within `minimum..maximum`."""
    field = f"{where}.{key}"
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(f"{field} must be an integer", code="validation.type", field=field)
    if not minimum <= value <= maximum:
        raise ValidationError(f"{field} must be in {minimum}..{maximum}, got {value}", code="validation.range", field=field)
    return value


def get_bytes(obj: dict[str, object], key: str, where: str, *, size: int | None = None, max_size: int = 1024) -> bytes:
    """A binary field (base64url text, docs/spec/encoding.md §3) of exactly `size` or at most `max_size` bytes."""
    field = f"{where}.{key}"
    value = obj.get(key)
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a base64url string", code="validation.type", field=field)
    try:
        data = b64decode(value, field=field)
    except EncodingError as exc:
        raise ValidationError(f"{field}: {exc}", code="validation.binary", field=field) from exc
    if size is not None and len(data) != size:
        raise ValidationError(f"{field} must be {size} bytes, got {len(data)}", code="validation.length", field=field)
    if len(data) > max_size:
        raise ValidationError(f"{field} must be at most {max_size} bytes, got {len(data)}", code="validation.length", field=field)
    return data


def get_list(obj: dict[str, object], key: str, where: str, *, max_items: int) -> list[object]:
    """A list field of at most `max_items` items."""
    field = f"{where}.{key}"
    value = obj.get(key)
    if not isinstance(value, list):
        raise ValidationError(f"{field} must be a list", code="validation.type", field=field)
    if len(value) > max_items:
        raise ValidationError(f"{field} has {len(value)} items; at most {max_items} allowed", code="validation.length", field=field)
    return value
