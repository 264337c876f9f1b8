"""Tests for ledger.encoding against docs/spec/encoding.md.

The independent reference for §3 is the `rfc8785` package (a separate JCS implementation);
vectors come from the spec's worked examples, RFC 8785 §3.2.2.2 / §3.2.3 and RFC 4648 §10.
"""

from __future__ import annotations

import enum
import json
from collections import OrderedDict

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.encoding import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    b64decode,
    decode,
    encode,
    format_path,
)
from ledger.errors import EncodingError, LedgerError
from ledger.hashing import hash_object, tagged_hash

# --- spec §9 worked examples --------------------------------------------------------------------

RFC8785_KEYS = {
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\U0001f600": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis",
}

SPEC_EXAMPLES = [
    (
        {"b": [1, -2, True, None], "a": "x\ny"},
        "7b 22 61 22 3a 22 78 5c 6e 79 22 2c 22 62 22 3a 5b 31 2c 2d 32 2c 74 72 75 65 2c 6e 75 6c 6c 5d 7d",
    ),
    (
        {"kind": "seal.register", "image_hash": b"\x00\x01\xfe\xff", "n": 9007199254740991},
        "7b 22 69 6d 61 67 65 5f 68 61 73 68 22 3a 22 41 41 48 2d 5f 77 22 2c 22 6b 69 6e 64 22 3a 22"
        "73 65 61 6c 2e 72 65 67 69 73 74 65 72 22 2c 22 6e 22 3a 39 30 30 37 31 39 39 32 35 34 37 34"
        "30 39 39 31 7d",
    ),
    (
        ["\u0000\u001f\u007f\u2028\"\\/\b\t", "证照"],
        "5b 22 5c 75 30 30 30 30 5c 75 30 30 31 66 7f e2 80 a8 5c 22 5c 5c 2f 5c 62 5c 74 22 2c 22 e8"
        "af 81 e7 85 a7 22 5d",
    ),
    (
        RFC8785_KEYS,
        "7b 22 5c 72 22 3a 22 43 61 72 72 69 61 67 65 20 52 65 74 75 72 6e 22 2c 22 31 22 3a 22 4f 6e"
        "65 22 2c 22 c2 80 22 3a 22 43 6f 6e 74 72 6f 6c 22 2c 22 c3 b6 22 3a 22 4c 61 74 69 6e 20 53"
        "6d 61 6c 6c 20 4c 65 74 74 65 72 20 4f 20 57 69 74 68 20 44 69 61 65 72 65 73 69 73 22 2c 22"
        "e2 82 ac 22 3a 22 45 75 72 6f 20 53 69 67 6e 22 2c 22 f0 9f 98 80 22 3a 22 45 6d 6f 6a 69 3a"
        "20 47 72 69 6e 6e 69 6e 67 20 46 61 63 65 22 2c 22 ef ac b3 22 3a 22 48 65 62 72 65 77 20 4c"
        "65 74 74 65 72 20 44 61 6c 65 74 20 57 69 74 68 20 44 61 67 65 73 68 22 7d",
    ),
]


@pytest.mark.parametrize(("value", "hex_bytes"), SPEC_EXAMPLES)
def test_encode_produces_spec_example_bytes_and_decode_accepts_them(value: object, hex_bytes: str) -> None:
    assert encode(value) == bytes.fromhex(hex_bytes)
    assert encode(decode(bytes.fromhex(hex_bytes))) == bytes.fromhex(hex_bytes)


def test_encode_sorts_members_by_utf16_code_units_not_code_points() -> None:
    # RFC 8785 §3.2.3: U+1F600 (0xD83D 0xDE00) sorts before U+FB33; by code point it is last.
    expected = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert sorted(RFC8785_KEYS) != expected
    assert list(decode(encode(RFC8785_KEYS))) == expected  # type: ignore[call-overload]
    assert encode(RFC8785_KEYS) == rfc8785.dumps(RFC8785_KEYS)


def test_encode_sorts_nested_objects_with_non_bmp_names() -> None:
    value = {"z": {"\uff61": 1, "\U0001f600": 2, "a": 3}, "\U00010000": [{"\uffff": 0, "\U0010ffff": 1}]}
    assert encode(value) == rfc8785.dumps(value)
    expected = '{"z":{"a":3,"\U0001f600":2,"\uff61":1},"\U00010000":[{"\U0010ffff":1,"\uffff":0}]}'
    assert encode(value) == expected.encode()


def test_encode_normalises_rfc8785_string_example() -> None:
    # RFC 8785 §3.2.2.2: the parsed string re-serialises with only the mandatory escapes.
    source = r'''"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/"'''
    assert encode(json.loads(source)) == '"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"'.encode()
    with pytest.raises(EncodingError) as caught:
        decode(source.encode())
    assert caught.value.code == "encoding.not_canonical"


def _reference_string(text: str) -> bytes:
    """§3.3 literally, one character at a time."""
    short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    out = []
    for char in text:
        if char in short:
            out.append(short[char])
        elif ord(char) < 0x20:
            out.append("\\u00" + format(ord(char), "02x"))
        else:
            out.append(char)
    return ('"' + "".join(out) + '"').encode("utf-8")


def test_encode_escapes_exactly_quote_backslash_and_c0_controls() -> None:
    specials = [0x7F, 0x80, 0x9F, 0xA0, 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF, 0x10000, 0x10FFFF]
    for code_point in [*range(0x80), *specials]:
        char = chr(code_point)
        assert encode(char) == _reference_string(char), hex(code_point)
        assert encode({char: char}) == b"{" + _reference_string(char) + b":" + _reference_string(char) + b"}"


# --- encode: accepted inputs --------------------------------------------------------------------


class _Status(enum.StrEnum):
    VALID = "valid"


class _Level(enum.IntEnum):
    HIGH = 3


def test_encode_writes_binary_as_unpadded_base64url() -> None:
    value = {"a": b"\xfb\xff", "b": bytearray(b"f"), "c": [b""], "d": (b"foo",)}
    assert encode(value) == b'{"a":"-_8","b":"Zg","c":[""],"d":["Zm9v"]}'


def test_encode_accepts_tuples_and_subclasses_of_accepted_types() -> None:
    value = OrderedDict([("s", _Status.VALID), ("n", _Level.HIGH), ("t", (1, (2,)))])
    assert encode(value) == b'{"n":3,"s":"valid","t":[1,[2]]}'
    assert encode({_Status.VALID: True}) == b'{"valid":true}'


def test_encode_keeps_bool_distinct_from_int() -> None:
    assert encode([True, False, 1, 0, None]) == b"[true,false,1,0,null]"


def test_encode_accepts_integers_up_to_two_to_the_53_minus_one() -> None:
    assert encode([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 0]) == b"[9007199254740991,-9007199254740991,0]"


def test_encode_accepts_exactly_max_depth_levels() -> None:
    value: object = 1
    for _ in range(MAX_DEPTH):
        value = [value]
    assert encode(value) == b"[" * MAX_DEPTH + b"1" + b"]" * MAX_DEPTH
    with pytest.raises(EncodingError) as caught:
        encode([value])
    assert caught.value.code == "encoding.depth"
    assert caught.value.path == "$" + "[0]" * MAX_DEPTH


# --- encode: rejections -------------------------------------------------------------------------

_ENCODE_REJECTIONS = [
    ({"body": {"items": [0, 1, 2, 1.5]}}, "encoding.float", "$.body.items[3]"),
    (float("nan"), "encoding.float", "$"),
    ({"a": 2**53}, "encoding.int_range", "$.a"),
    ([-(2**53)], "encoding.int_range", "$[0]"),
    ({"n": [_Level.HIGH, 10**30]}, "encoding.int_range", "$.n[1]"),
    ({"a": [{1: "x"}]}, "encoding.key_type", "$.a[0]"),
    ({True: 1}, "encoding.key_type", "$"),
    ({"a": "ok", "b": {"c": "\ud800"}}, "encoding.utf8", "$.b.c"),
    ({"x": {"\udc00": 1}}, "encoding.utf8", '$.x["\\udc00"]'),
    ({"a": {1, 2}}, "encoding.type", "$.a"),
    ({"odd key": [memoryview(b"x")]}, "encoding.type", '$["odd key"][0]'),
    ([object()], "encoding.type", "$[0]"),
]


@pytest.mark.parametrize(("value", "code", "path"), _ENCODE_REJECTIONS)
def test_encode_rejects_with_code_and_path(value: object, code: str, path: str) -> None:
    with pytest.raises(EncodingError) as caught:
        encode(value)
    assert caught.value.code == code
    assert caught.value.path == path
    assert path in str(caught.value)


def test_encode_rejects_cyclic_structure_as_too_deep() -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(EncodingError) as caught:
        encode(cycle)
    assert caught.value.code == "encoding.depth"


def test_encoding_error_is_a_ledger_error_with_dict_form() -> None:
    with pytest.raises(LedgerError) as caught:
        encode({"a": 0.5})
    assert caught.value.to_dict()["code"] == "encoding.float"
    assert caught.value.to_dict()["path"] == "$.a"


def test_format_path_quotes_names_that_are_not_identifiers() -> None:
    assert format_path([]) == "$"
    assert format_path(["body", "items", 3, "a b", "_x1"]) == '$.body.items[3]["a b"]._x1'
    assert format_path(["1a", 'q"']) == '$["1a"]["q\\""]'


# --- decode: rejections -------------------------------------------------------------------------

_DECODE_REJECTIONS = [
    # spec §9 example 5
    (b'{"a":1,"a":2}', "encoding.duplicate_key", {"path": "$", "key": "a"}),
    (b'{"b":1,"a":2}', "encoding.not_canonical", {"offset": 2}),
    (b"[1, 2]", "encoding.not_canonical", {"offset": 3}),
    (b'"\\u0041"', "encoding.not_canonical", {"offset": 1}),
    (b'{"x":[1,{"y":-0}]}', "encoding.float", {"path": "$.x[1].y"}),
    (b"[1e5]", "encoding.float", {"path": "$[0]"}),
    (b"[9007199254740992]", "encoding.int_range", {"path": "$[0]"}),
    (b'"\\ud800"', "encoding.utf8", {"path": "$"}),
    (b"[01]", "encoding.syntax", {"offset": 2}),
    (b"\xef\xbb\xbf1", "encoding.utf8", {"offset": 0}),
    (b"[" * 33 + b"]" * 33, "encoding.depth", {"offset": 32}),
    # UTF-8
    (b'["a\xff"]', "encoding.utf8", {"offset": 3}),
    (b'"\xc0\xaf"', "encoding.utf8", {"offset": 1}),
    (b'"\xed\xa0\x80"', "encoding.utf8", {"offset": 1}),
    (b'"\xf4\x90\x80\x80"', "encoding.utf8", {"offset": 1}),
    # syntax
    (b"", "encoding.syntax", {"offset": 0}),
    (b"[1,]", "encoding.syntax", {"offset": 3}),
    (b'{"a"}', "encoding.syntax", {"offset": 4}),
    (b"[1,2", "encoding.syntax", {"offset": 4}),
    (b"+1", "encoding.syntax", {"offset": 0}),
    (b'"\x01"', "encoding.syntax", {"offset": 1}),
    (b'["\xe8\xaf\x81",}', "encoding.syntax", {"offset": 7}),
    (b"1 2", "encoding.syntax", {"offset": 2}),
    # duplicates, nested
    (b'{"a":{"b":1,"b":1}}', "encoding.duplicate_key", {"path": "$.a", "key": "b"}),
    (b'[0,{"\xe8\xaf\x81":[],"\xe8\xaf\x81":[]}]', "encoding.duplicate_key", {"path": "$[1]", "key": "证"}),
    # numbers
    (b"1.0", "encoding.float", {"path": "$"}),
    (b'{"a":1E5}', "encoding.float", {"path": "$.a"}),
    (b"-0", "encoding.float", {"path": "$"}),
    (b"[-0.0]", "encoding.float", {"path": "$[0]"}),
    (b"[NaN]", "encoding.float", {"path": "$[0]"}),
    (b'{"i":Infinity}', "encoding.float", {"path": "$.i"}),
    (b"-Infinity", "encoding.float", {"path": "$"}),
    (b"-9007199254740992", "encoding.int_range", {"path": "$"}),
    (b"[" + b"7" * 100 + b"]", "encoding.int_range", {"path": "$[0]"}),
    (b"[" + b"7" * 5000 + b"]", "encoding.int_range", {"path": "$[0]"}),
    # not canonical
    (b" 1", "encoding.not_canonical", {"offset": 0}),
    (b"1\n", "encoding.not_canonical", {"offset": 1}),
    (b'{"a":1,\t"b":2}', "encoding.not_canonical", {"offset": 7}),
    (b'{"a" :1}', "encoding.not_canonical", {"offset": 4}),
    (b'"a\\/b"', "encoding.not_canonical", {"offset": 2}),
    (b'"\\u001F"', "encoding.not_canonical", {"offset": 6}),
    (b'"\\u0008"', "encoding.not_canonical", {"offset": 2}),
    (b'"\\u00e9"', "encoding.not_canonical", {"offset": 1}),
    (b'"\\ud83d\\ude00"', "encoding.not_canonical", {"offset": 1}),
    (b'{"\xef\xbd\xa1":1,"\xf0\x9f\x98\x80":2}', "encoding.not_canonical", {"offset": 2}),
]


@pytest.mark.parametrize(("data", "code", "fields"), _DECODE_REJECTIONS)
def test_decode_rejects_with_code_and_location(data: bytes, code: str, fields: dict[str, object]) -> None:
    with pytest.raises(EncodingError) as caught:
        decode(data)
    assert caught.value.code == code
    for name, expected in fields.items():
        assert getattr(caught.value, name) == expected, name


def test_decode_checks_size_before_parsing() -> None:
    with pytest.raises(EncodingError) as caught:
        decode(b"\xff" * 10, max_bytes=9)
    assert caught.value.code == "encoding.too_large"
    assert (caught.value.size, caught.value.max_bytes) == (10, 9)
    assert decode(b"[1,2]", max_bytes=5) == [1, 2]


def test_decode_default_size_limit_is_max_bytes() -> None:
    assert MAX_BYTES == 1_048_576
    payload = b'"' + b"a" * (MAX_BYTES - 2) + b'"'
    assert decode(payload) == "a" * (MAX_BYTES - 2)
    with pytest.raises(EncodingError) as caught:
        decode(b'"' + b"a" * (MAX_BYTES - 1) + b'"')
    assert caught.value.code == "encoding.too_large"


@pytest.mark.parametrize(
    "data",
    [b"[" * 100_000, b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 20_000, b"[{}," * 10 + b'[{"a":' * 20_000],
)
def test_decode_rejects_hostile_nesting_as_too_deep(data: bytes) -> None:
    with pytest.raises(EncodingError) as caught:
        decode(data)
    assert caught.value.code == "encoding.depth"
    assert caught.value.max_depth == MAX_DEPTH


def test_decode_depth_limit_is_a_parameter() -> None:
    assert decode(b"[[]]", max_depth=2) == [[]]
    with pytest.raises(EncodingError) as caught:
        decode(b"[[]]", max_depth=1)
    assert (caught.value.code, caught.value.offset) == ("encoding.depth", 1)
    assert decode(b"7", max_depth=0) == 7
    deep = b"[" * 40 + b"]" * 40
    assert decode(deep, max_depth=40) == json.loads(deep)


def test_decode_ignores_brackets_inside_strings_when_measuring_depth() -> None:
    data = b'["' + b"[{" * 100 + b'\\"' + b"[" * 100 + b'",{"[":"]]]"}]'
    assert decode(data) == ["[{" * 100 + '"' + "[" * 100, {"[": "]]]"}]


def test_decode_reports_shallow_unbalanced_input_as_syntax() -> None:
    for data in (b"[" * 20, b"[" + b"[]," * 40, b"]" * 40):
        with pytest.raises(EncodingError) as caught:
            decode(data)
        assert caught.value.code == "encoding.syntax", data


def test_decode_accepts_many_shallow_containers() -> None:
    data = b"[" + b",".join([b'{"a":[]}'] * 1000) + b"]"
    assert decode(data) == [{"a": []}] * 1000


def test_decode_returns_binary_as_text_for_b64decode() -> None:
    value = decode(encode({"sig": b"\x00\xff"}))
    assert value == {"sig": "AP8"}
    assert b64decode(value["sig"], field="$.sig") == b"\x00\xff"  # type: ignore[index]


def test_decode_accepts_bytearray() -> None:
    assert decode(bytearray(b'{"a":[true]}')) == {"a": [True]}


def test_decode_refuses_misuse_with_python_errors() -> None:
    with pytest.raises(TypeError):
        decode("[]")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        decode(b"[]", max_depth=10_000)


# --- property tests against rfc8785 -------------------------------------------------------------

_SPECIAL_CHARS = ["\x00", "\x1f", "\x7f", "\u2028", "\ufb33", "\uff61", "\U0001f600", "\U0010ffff", '"', "\\"]
_CHARS = st.one_of(st.characters(codec="utf-8"), st.sampled_from(_SPECIAL_CHARS))
_TEXT = st.text(_CHARS, max_size=8)
_INTEGERS = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | st.integers(-1000, 1000)
_SCALARS = st.one_of(st.none(), st.booleans(), _INTEGERS, _TEXT)
_NAMES = st.text(_CHARS, max_size=3)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_NAMES, inner, max_size=4),
    max_leaves=20,
)


def _typed(value: object) -> object:
    """`value` with every scalar tagged by its type, so True and 1 compare unequal."""
    if isinstance(value, dict):
        return {name: _typed(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_encode_equals_rfc8785_and_decode_inverts_it(value: object) -> None:
    encoded = encode(value)
    assert encoded == rfc8785.dumps(value)
    assert _typed(decode(encoded)) == _typed(value)


def _token_boundaries(data: bytes) -> list[int]:
    """Offsets between two tokens of canonical JSON `data`, and its two ends."""
    structural = (b"[", b"]", b"{", b"}", b",", b":")
    token_starts = []
    index = 0
    while index < len(data):
        token_starts.append(index)
        if data[index : index + 1] == b'"':
            index += 1
            while data[index : index + 1] != b'"':
                index += 2 if data[index : index + 1] == b"\\" else 1
            index += 1
        elif data[index : index + 1] in structural:
            index += 1
        else:
            while index < len(data) and data[index : index + 1] not in structural:
                index += 1
    return [*token_starts, len(data)]


@settings(max_examples=200, deadline=None)
@given(_VALUES, st.data())
def test_decode_rejects_whitespace_between_tokens(value: object, data: st.DataObject) -> None:
    encoded = encode(value)
    position = data.draw(st.sampled_from(_token_boundaries(encoded)))
    space = data.draw(st.sampled_from([b" ", b"\t", b"\n", b"\r", b"  "]))
    with pytest.raises(EncodingError) as caught:
        decode(encoded[:position] + space + encoded[position:])
    assert (caught.value.code, caught.value.offset) == ("encoding.not_canonical", position)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_NAMES, _SCALARS | st.lists(_SCALARS, max_size=3), min_size=2, max_size=5))
def test_decode_rejects_members_out_of_order(value: dict[str, object]) -> None:
    members = list(decode(encode(value)).items())  # type: ignore[attr-defined]
    swapped = b"{" + b",".join(encode(name) + b":" + encode(item) for name, item in reversed(members)) + b"}"
    with pytest.raises(EncodingError) as caught:
        decode(swapped)
    assert caught.value.code == "encoding.not_canonical"
    assert caught.value.offset >= 2


# --- hashing.hash_object ------------------------------------------------------------------------


def test_hash_object_hashes_the_canonical_encoding() -> None:
    value = {"b": b"\x01", "a": [1, "x"]}
    assert hash_object("tx", value) == tagged_hash("tx", b'{"a":[1,"x"],"b":"AQ"}')
    assert hash_object("tx", value) != hash_object("block", value)
    with pytest.raises(EncodingError):
        hash_object("tx", {"a": 1.5})


# --- the fast path of decode agrees with the checking parser ------------------------------------


def _outcome(data: bytes, *, fast: bool, monkeypatch: pytest.MonkeyPatch | None = None, max_depth: int = MAX_DEPTH) -> object:
    """decode's typed value or (code, fields) of its error, with or without the fast path."""
    import ledger.encoding as encoding

    with pytest.MonkeyPatch.context() as patch:
        if not fast:
            patch.setattr(encoding, "_decode_canonical", lambda data, max_depth: encoding._SLOW)
        try:
            return _typed(decode(data, max_depth=max_depth))
        except EncodingError as exc:
            return (exc.code, exc.fields)


_MUTATION_BYTES = [b" ", b".", b"e", b"E", b"0", b"9", b"-", b'"', b"\\", b"}", b"{", b"]", b",", b":", b"\\u0041", b"\\/", b"\xf0\x9f\x98\x80", b"\xff"]


@settings(max_examples=400, deadline=None)
@given(_VALUES, st.data())
def test_decode_fast_path_agrees_with_checking_parser_on_mutations(value: object, data: st.DataObject) -> None:
    encoded = encode(value)
    position = data.draw(st.integers(0, len(encoded)))
    action = data.draw(st.sampled_from(["insert", "delete", "replace", "none"]))
    piece = data.draw(st.sampled_from(_MUTATION_BYTES))
    if action == "insert":
        mutated = encoded[:position] + piece + encoded[position:]
    elif action == "delete":
        mutated = encoded[:position] + encoded[position + 1 :]
    elif action == "replace":
        mutated = encoded[:position] + piece + encoded[position + 1 :]
    else:
        mutated = encoded
    assert _outcome(mutated, fast=True) == _outcome(mutated, fast=False)


@pytest.mark.parametrize(
    "data",
    [b"1.0", b"1e2", b"[1E2]", b'{"a":0.5}', b"9007199254740991", b"9007199254740992", b"-9007199254740992",
     b"18446744073709551616", b"9223372036854775807", b"-0", b'"\\ud800"', b'"\\/"', b'{"a":1,"a":1}', b'{"b":1,"a":2}',
     b'{"\\ud83d\\ude00":1,"\xef\xbd\xa1":2}', b'{"\xef\xbd\xa1":2,"\xf0\x9f\x98\x80":1}', b'"\x7f\xe2\x80\xa8"', b"NaN", b"", b"[]", b"null",
     b"[[[[1]]]]", b"\xef\xbb\xbf1", b' {"a":1}', b'{"a":1} '],
)
def test_decode_fast_path_agrees_with_checking_parser_on_edge_cases(data: bytes) -> None:
    for max_depth in (0, 3, MAX_DEPTH):
        assert _outcome(data, fast=True, max_depth=max_depth) == _outcome(data, fast=False, max_depth=max_depth)
