"""Canonical encoding of eledger values (docs/spec/encoding.md).

Every hash and signature eledger computes is over bytes produced here: the RFC 8785 (JCS)
serialisation of a float-free JSON subset, with binary values carried as unpadded base64url
strings. `decode` accepts exactly the bytes `encode` produces, so one value has one encoding.

This module must never accept floats, lenient base64 or non-canonical input, never recurse
deeper than the depth limit, and never import `ledger.hashing` (which imports it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import orjson

from ledger.b64 import b64decode, b64encode
from ledger.errors import EncodingError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_SAFE_INTEGER", "b64decode", "b64encode", "decode", "encode", "encode_decoded", "format_path"]

MAX_BYTES = 1_048_576
MAX_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1

# Largest max_depth a caller may ask for: bounds the recursion of the walk below and of the
# json module's C scanner (both well under Python's recursion limit).
_DEPTH_LIMIT_CAP = 256

_BOM = b"\xef\xbb\xbf"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# One JSON string (unterminated ones run to the end, so every match attempt succeeds and the
# scan stays linear), or one bracket. Used only to measure nesting depth.
_DEPTH_TOKEN = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?|[\[\]{}]', re.DOTALL)
_STRING_TOKEN = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKETS_AS_SQUARE = str.maketrans("{}", "[]")



class _Fault(Exception):
    """A rejection found during the walk; collects the path while it propagates outwards."""

    def __init__(self, code: str, message: str, **fields: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields
        self.segments: list[str | int] = []

    def to_error(self) -> EncodingError:
        path = format_path(reversed(self.segments))
        return EncodingError(f"{path}: {self.message}", code=self.code, path=path, **self.fields)


class _Rejected:
    """Placeholder the parser puts where input holds a forbidden value; the walk reports it."""

    __slots__ = ("code", "message", "fields")

    def __init__(self, code: str, message: str, **fields: object) -> None:
        self.code = code
        self.message = message
        self.fields = fields


def format_path(segments: Iterable[str | int]) -> str:
    """The JSONPath-like location of a member: `$`, then `.name` or `["odd name"]`, `[index]`."""
    parts = ["$"]
    for segment in segments:
        if isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif _IDENTIFIER.match(segment):
            parts.append("." + segment)
        else:
            parts.append("[" + json.dumps(segment) + "]")
    return "".join(parts)


# --- the walk: validate, convert bytes, sort members (§3, §4) ---------------------------------


def _utf16_order(member: tuple[str, object]) -> bytes:
    # §3.5: member names compare as sequences of UTF-16 code units.
    return member[0].encode("utf-16-be", "surrogatepass")


def _convert(value: object, depth_left: int) -> object:
    """A copy of `value` with bytes as base64url text, lists for tuples, members in order."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:  # type: ignore[operator]
            return value
        raise _Fault("encoding.int_range", f"integer {value} outside ±(2^53-1)", value=str(value))
    if kind is dict:
        return _convert_dict(value, depth_left)  # type: ignore[arg-type]
    if kind is list or kind is tuple:
        return _convert_list(value, depth_left)  # type: ignore[arg-type]
    if kind is bytes:
        return b64encode(value)  # type: ignore[arg-type]
    return _convert_other(value, depth_left)


def _convert_dict(obj: dict[object, object], depth_left: int) -> dict[str, object]:
    if depth_left <= 0:
        raise _Fault("encoding.depth", "container nested deeper than the depth limit")
    try:
        names = sorted(obj)
    except TypeError:
        names = list(obj)  # a non-str key; the loop reports it
    out: dict[str, object] = {}
    needs_utf16_sort = False
    name: object = None
    try:
        for name in names:
            item = obj[name]
            if type(name) is not str:
                name = _check_key(name)
            if not name.isascii() and max(name) > "\uffff":
                needs_utf16_sort = True
            kind = type(item)
            if kind is str or kind is bool or item is None:
                out[name] = item
            elif kind is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:  # type: ignore[operator]
                out[name] = item
            else:
                out[name] = _convert(item, depth_left - 1)
    except _Fault as fault:
        if type(name) is str:
            fault.segments.append(name)
        raise
    if needs_utf16_sort:
        # Code point order (Python's) and UTF-16 order differ only for names with characters
        # above U+FFFF; re-sort those objects explicitly.
        out = dict(sorted(out.items(), key=_utf16_order))
    return out


def _check_key(name: object) -> str:
    if isinstance(name, str):
        return str.__str__(name)
    raise _Fault("encoding.key_type", f"object key {name!r} is a {type(name).__name__}, not a str")


def _convert_list(seq: list[object] | tuple[object, ...], depth_left: int) -> list[object]:
    if depth_left <= 0:
        raise _Fault("encoding.depth", "container nested deeper than the depth limit")
    out: list[object] = []
    append = out.append
    index = 0
    try:
        for index, item in enumerate(seq):
            kind = type(item)
            if kind is str or kind is bool or item is None:
                append(item)
            elif kind is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:  # type: ignore[operator]
                append(item)
            else:
                append(_convert(item, depth_left - 1))
    except _Fault as fault:
        fault.segments.append(index)
        raise
    return out


def _convert_other(value: object, depth_left: int) -> object:
    """Subclasses of the accepted types, and everything that is rejected."""
    if isinstance(value, _Rejected):
        raise _Fault(value.code, value.message, **value.fields)
    if isinstance(value, float):
        raise _Fault("encoding.float", f"float {value!r} is not allowed; use an integer or a string")
    if isinstance(value, int):
        return _convert(int.__int__(value), depth_left)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, dict):
        return _convert_dict(value, depth_left)
    if isinstance(value, (list, tuple)):
        return _convert_list(value, depth_left)
    if isinstance(value, (bytes, bytearray)):
        return b64encode(value)
    raise _Fault("encoding.type", f"{type(value).__name__} cannot be encoded", type=type(value).__name__)


def _find_surrogate(tree: object, segments: list[str | int]) -> bool:
    """Whether a lone surrogate is in `tree` (converted, so bounded depth); fills its path."""
    if isinstance(tree, str):
        return not _is_utf8_encodable(tree)
    if isinstance(tree, dict):
        for name, item in tree.items():
            segments.append(name)
            if not _is_utf8_encodable(name) or _find_surrogate(item, segments):
                return True
            segments.pop()
    elif isinstance(tree, list):
        for index, item in enumerate(tree):
            segments.append(index)
            if _find_surrogate(item, segments):
                return True
            segments.pop()
    return False


def _is_utf8_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _serialize(value: object, max_depth: int) -> bytes:
    try:
        tree = _convert(value, max_depth)
    except _Fault as fault:
        if fault.code == "encoding.depth":
            fault.fields["max_depth"] = max_depth
        raise fault.to_error() from None
    try:
        return orjson.dumps(tree)
    except orjson.JSONEncodeError:  # the only thing the walk lets through that orjson refuses
        segments: list[str | int] = []
        _find_surrogate(tree, segments)
        path = format_path(segments)
        raise EncodingError(
            f"{path}: lone surrogate in a string; strings must be valid Unicode",
            code="encoding.utf8",
            path=path,
        ) from None


def encode(value: object) -> bytes:
    """The canonical bytes of `value` (docs/spec/encoding.md §3).

    Accepts dict (str keys), list, tuple, str, int, bool, None, bytes and bytearray (as
    base64url text, §4), nested at most MAX_DEPTH containers deep. Raises EncodingError with
    `path`: `encoding.float`, `encoding.int_range`, `encoding.key_type`, `encoding.utf8`
    (lone surrogate), `encoding.type`, `encoding.depth`.
    """
    return _serialize(value, MAX_DEPTH)


# --- decoding (§6) ----------------------------------------------------------------------------


def encode_decoded(value: object) -> bytes:
    """The canonical bytes of a value `decode` returned, or of a part of one, re-encoded fast.

    Precondition: `value` (or the whole it was taken from) came out of `decode` and was not
    modified: its strings, integers and member order are then already canonical, so the
    validating walk of `encode` is skipped. A new dict built from such parts must list its
    members in canonical order. Anything else must go through `encode`.
    """
    return orjson.dumps(value)


def _parse_int(digits: str) -> object:
    if len(digits) > 17:  # longer than "-9007199254740991": out of range, skip int()
        message = f"integer {digits[:24]}… ({len(digits)} characters) outside ±(2^53-1)"
        return _Rejected("encoding.int_range", message, value=digits[:24])
    if digits == "-0":
        return _Rejected("encoding.float", "-0 is not allowed")
    return int(digits)


def _parse_float(text: str) -> object:
    return _Rejected("encoding.float", f"number {text[:24]} has a fraction or exponent", value=text[:24])


def _parse_constant(text: str) -> object:
    return _Rejected("encoding.float", f"{text} is not JSON", value=text)


def _pairs_without_duplicates(pairs: list[tuple[str, object]]) -> object:
    # Only used to explain a rejection, so it favours clarity over speed.
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            return _Rejected("encoding.duplicate_key", f"duplicate key {name!r} in object", key=name)
        seen.add(name)
    return dict(pairs)


_DECODER = json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
_CHECKING_DECODER = json.JSONDecoder(
    parse_int=_parse_int,
    parse_float=_parse_float,
    parse_constant=_parse_constant,
    object_pairs_hook=_pairs_without_duplicates,
)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _check_depth(text: str, max_depth: int) -> None:
    """Reject nesting deeper than `max_depth` before the recursive parser sees it (§5)."""
    if text.count("[") + text.count("{") <= max_depth:
        return
    # Keep only brackets outside strings; each pass deletes every innermost pair, so after
    # max_depth passes only containers nested deeper than max_depth (or unbalanced input) remain.
    brackets = _NOT_BRACKET.sub("", _STRING_TOKEN.sub("", text)).translate(_BRACKETS_AS_SQUARE)
    for _ in range(max_depth):
        if not brackets:
            return
        brackets = brackets.replace("[]", "")
    if not brackets:
        return
    level = 0
    for token in _DEPTH_TOKEN.finditer(text):
        char = text[token.start()]
        if char == "[" or char == "{":
            level += 1
            if level > max_depth:
                offset = _byte_offset(text, token.start())
                raise EncodingError(
                    f"containers nested deeper than {max_depth} at byte {offset}",
                    code="encoding.depth",
                    offset=offset,
                    max_depth=max_depth,
                )
        elif char == "]" or char == "}":
            level -= 1
    # Unbalanced but never deeper than max_depth: the parser reports the syntax error.


def _first_difference(left: bytes, right: bytes) -> int:
    low, high = 0, min(len(left), len(right))
    if left[:high] == right[:high]:
        return high
    while high - low > 1:  # invariant: left[:low] == right[:low], left[:high] != right[:high]
        middle = (low + high) // 2
        if left[:middle] == right[:middle]:
            low = middle
        else:
            high = middle
    return low


_SLOW = object()
_BELOW_F0 = bytes(range(0xF0))
_SORTED = orjson.OPT_SORT_KEYS


def _decode_canonical(data: bytes, max_depth: int) -> object:
    """The value of `data` if `data` is its canonical encoding, else _SLOW (then the checking
    parser below decides and explains). Fast: orjson parses, `_plain` rejects what §5 forbids
    but orjson allows (fractions and exponents, integers beyond ±(2^53-1), deeper nesting), and
    the canonical re-encoding must equal `data` byte for byte, which rules out whitespace,
    escapes, number forms, duplicate keys and member order. orjson sorts names by code point;
    that is UTF-16 order (§3.5) unless characters above U+FFFF occur, so input with a 4-byte
    UTF-8 sequence takes the slow path."""
    if data.translate(None, _BELOW_F0):  # a byte 0xF0..0xFF: a 4-byte sequence (or invalid UTF-8)
        return _SLOW
    try:
        value = orjson.loads(data)
        if _plain(value, max_depth) and orjson.dumps(value, option=_SORTED) == data:
            return value
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, RecursionError):
        pass
    return _SLOW


def _plain(value: object, depth_left: int) -> bool:
    """Whether `value` (from orjson) holds no float, no integer outside ±(2^53-1), and no
    container nested deeper than `depth_left`."""
    kind = type(value)
    if kind is dict:
        items = value.values()  # type: ignore[attr-defined]
    elif kind is list:
        items = value
    elif kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER  # type: ignore[operator]
    else:
        return kind is not float
    if depth_left <= 0:
        return False
    for item in items:  # type: ignore[attr-defined]
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return False
        elif not _plain(item, depth_left - 1):
            return False
    return True


def decode(data: bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> object:
    """The value whose canonical encoding is exactly `data` (docs/spec/encoding.md §6).

    Returns dict / list / str / int / bool / None; binary values stay base64url str (typed
    layers call `b64decode`). Preconditions: `data` is bytes or bytearray (TypeError),
    0 <= max_depth <= 256 (ValueError). Raises EncodingError: `encoding.too_large` (checked
    first), `encoding.utf8` (invalid UTF-8, BOM, escaped lone surrogate), `encoding.depth`,
    `encoding.syntax`, `encoding.float`, `encoding.int_range`, `encoding.duplicate_key`,
    `encoding.not_canonical` (with the `offset` of the first byte that differs from the
    canonical encoding of the same value).
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"decode needs bytes, got {type(data).__name__}")
    if not 0 <= max_depth <= _DEPTH_LIMIT_CAP:
        raise ValueError(f"max_depth must be within 0..{_DEPTH_LIMIT_CAP}, got {max_depth}")
    if len(data) > max_bytes:
        raise EncodingError(
            f"input of {len(data)} bytes exceeds the limit of {max_bytes}",
            code="encoding.too_large",
            size=len(data),
            max_bytes=max_bytes,
        )
    if data[:3] == _BOM:
        raise EncodingError("input starts with a byte order mark", code="encoding.utf8", offset=0)
    value = _decode_canonical(data, max_depth)
    if value is not _SLOW:
        return value
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"invalid UTF-8 at byte {exc.start}: {exc.reason}", code="encoding.utf8", offset=exc.start
        ) from None
    _check_depth(text, max_depth)
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        offset = _byte_offset(text, exc.pos)
        raise EncodingError(
            f"JSON syntax error at byte {offset}: {exc.msg}", code="encoding.syntax", offset=offset
        ) from None
    canonical = _serialize(value, max_depth)
    if canonical != data:
        _serialize(_CHECKING_DECODER.decode(text), max_depth)  # raises for a duplicate key
        offset = _first_difference(data, canonical)
        raise EncodingError(
            f"input is not in canonical form: byte {offset} differs from the canonical encoding "
            "(whitespace, member order, escapes or number form)",
            code="encoding.not_canonical",
            offset=offset,
        )
    return value
