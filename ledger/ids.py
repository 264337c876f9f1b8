"""Identifiers of the domain (docs/spec/domain.md §1–§2): unified social credit codes
(GB 32100-2015), licence type codes and GB/T 36904 licence identifiers with their ISO/IEC 7064
MOD 37,36 check character.

Pure functions over strings; every rejection is a ValidationError naming the field. Input is
taken exactly as given: nothing here trims, upper-cases or guesses a correction, because these
strings become state keys and must have one spelling.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ledger.errors import ValidationError

#: GB 32100-2015 §4: the 31 USCC characters (no I, O, S, V, Z); a character's value is its index.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: GB 32100-2015 §5: weights of positions 1..17 (3**i mod 31).
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_LENGTH = 18
TYPE_CODE_LENGTH = USCC_LENGTH + 3

#: ISO/IEC 7064 MOD 37,36 (hybrid system): alphabet 0-9A-Z with values 0..35.
MOD37_36_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LICENCE_ID_PREFIX = "1.2.156.3005.2."
MAX_VERSION = 999

_USCC_VALUES = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_MOD_VALUES = {ch: i for i, ch in enumerate(MOD37_36_ALPHABET)}
_LICENCE_ID_RE = re.compile(
    r"1\.2\.156\.3005\.2\.([0-9A-Z]{21})\.([0-9A-Z]{18})\.([0-9]{1,20})\.([0-9]{3})\.([0-9A-Z])"
)
_SERIAL_RE = re.compile(r"[0-9]{1,20}")
_VERSION_RE = re.compile(r"[0-9]{3}")


# -- USCC (GB 32100-2015) ---------------------------------------------------------------------


def compute_uscc_check(body: str, field: str = "uscc") -> str:
    """The check character (position 18) for the first 17 characters of a USCC (GB 32100 §5).

    Raises ValidationError "ids.bad_uscc" if `body` is not 17 characters of `USCC_ALPHABET`.
    """
    if len(body) != USCC_LENGTH - 1:
        raise ValidationError(f"{field}: USCC body must be {USCC_LENGTH - 1} characters, got {len(body)}", code="ids.bad_uscc", field=field, actual=body)
    total = 0
    for position, (ch, weight) in enumerate(zip(body, USCC_WEIGHTS, strict=True), start=1):
        value = _USCC_VALUES.get(ch)
        if value is None:
            raise ValidationError(
                f"{field}: USCC character {ch!r} at position {position} is not allowed; "
                "use digits and capital letters except I, O, S, V and Z",
                code="ids.bad_uscc", field=field, actual=body, position=position,
            )
        total += value * weight
    return USCC_ALPHABET[-total % 31]


def validate_uscc(text: object, field: str = "uscc") -> str:
    """Return `text` if it is a valid USCC: 18 characters of GB 32100, right check character.

    Raises ValidationError "ids.bad_uscc" naming `field` and what failed (type, length,
    character and position, or the expected check character as `expected`).
    """
    if type(text) is str and text in _VALID_USCCS:
        return text
    if not isinstance(text, str):
        raise ValidationError(f"{field}: USCC must be a string", code="ids.bad_uscc", field=field, actual=repr(text))
    if len(text) != USCC_LENGTH:
        raise ValidationError(f"{field}: USCC {text!r} has {len(text)} characters; a USCC has exactly {USCC_LENGTH}", code="ids.bad_uscc", field=field, actual=text)
    expected = compute_uscc_check(text[:-1], field)
    if text[-1] not in _USCC_VALUES:
        raise ValidationError(f"{field}: USCC check character {text[-1]!r} is not allowed", code="ids.bad_uscc", field=field, actual=text, position=USCC_LENGTH)
    if text[-1] != expected:
        raise ValidationError(
            f"{field}: USCC {text!r} has check character {text[-1]!r} but its first 17 characters "
            f"give {expected!r}; re-check the code as printed on the business licence",
            code="ids.bad_uscc", field=field, actual=text, expected=expected,
        )
    _remember(_VALID_USCCS, text)
    return text


# Valid codes recur on every transaction of a department: remember a bounded number of them
# (only valid ones, so invalid input can never fill the set).
_VALID_USCCS: set[str] = set()
_VALID_TYPE_CODES: set[str] = set()
_MAX_REMEMBERED = 65536


def _remember(known: set[str], text: str) -> None:
    if len(known) >= _MAX_REMEMBERED:
        known.clear()
    known.add(text)


def complete_uscc(body: str, field: str = "uscc") -> str:
    """`body` (17 characters) followed by its check character. Raises as `compute_uscc_check`."""
    return body + compute_uscc_check(body, field)


# -- licence type codes (GB/T 36904) ----------------------------------------------------------


def validate_type_code(text: object, field: str = "type") -> str:
    """Return `text` if it is a licence type code: the defining authority's valid USCC followed
    by 3 digits (21 characters). Raises ValidationError "ids.bad_type_code" naming `field`."""
    if type(text) is str and text in _VALID_TYPE_CODES:
        return text
    if not isinstance(text, str) or len(text) != TYPE_CODE_LENGTH or not text[USCC_LENGTH:].isascii() or not text[USCC_LENGTH:].isdigit():
        raise ValidationError(
            f"{field}: a licence type code is the authority's 18-character USCC followed by 3 digits, got {text!r}",
            code="ids.bad_type_code", field=field,
        )
    try:
        validate_uscc(text[:USCC_LENGTH], f"{field}[0:18] (authority USCC)")
    except ValidationError as exc:
        raise ValidationError(str(exc), code="ids.bad_type_code", field=field) from exc
    _remember(_VALID_TYPE_CODES, text)
    return text


# -- ISO/IEC 7064 MOD 37,36 -------------------------------------------------------------------


def mod37_36_check(text: str) -> str:
    """The ISO/IEC 7064 MOD 37,36 check character of `text` (hybrid system, M = 36).

    P starts at M; for each character value a: S = (P + a) mod M, with 0 read as M, and
    P = 2·S mod (M + 1). The check character c makes (P + c) mod M = 1.
    Precondition: `text` is non-empty and uses only 0-9A-Z; raises ValidationError
    "ids.bad_character" otherwise.
    """
    if not text:
        raise ValidationError("MOD 37,36 needs at least one character", code="ids.bad_character", field="text")
    for position, ch in enumerate(text, start=1):
        if ch not in _MOD_VALUES:
            raise ValidationError(f"character {ch!r} at position {position} is not one of 0-9A-Z", code="ids.bad_character", field="text", position=position)
    return _check_character(_advance(36, text))


def _advance(product: int, text: str) -> int:
    """The running product P after the characters of `text` (all in 0-9A-Z), from P = `product`."""
    values = _MOD_VALUES
    for ch in text:
        product = (2 * ((product + values[ch]) % 36 or 36)) % 37
    return product


def _check_character(product: int) -> str:
    return MOD37_36_ALPHABET[(37 - product) % 36]


@functools.lru_cache(maxsize=4096)
def _prefix_product(prefix: str) -> int:
    # A department issues many licences of one type: type code + issuer USCC repeats, so the
    # product after it is computed once.
    return _advance(36, prefix)


# -- licence identifiers (GB/T 36904, domain.md §2) -------------------------------------------


@dataclass(frozen=True)
class LicenceId:
    """A parsed licence identifier. Build it with `parse_licence_id` or `format_licence_id`,
    which check every part; `text` is the one spelling used in state keys."""

    type: str
    issuer: str
    serial: str
    version: str
    check: str

    @property
    def text(self) -> str:
        return f"{LICENCE_ID_PREFIX}{self.type}.{self.issuer}.{self.serial}.{self.version}.{self.check}"

    @property
    def payload(self) -> str:
        """The string the check character is computed over: type ‖ issuer ‖ serial ‖ version."""
        return self.type + self.issuer + self.serial + self.version


def parse_licence_id(text: object, field: str = "id") -> LicenceId:
    """Parse and check a licence identifier (domain.md §2).

    Raises ValidationError "ids.bad_licence_id" for a wrong form (including a type or issuer
    part that is not a valid type code / USCC, and version 000), and
    "ids.bad_check_character" (with `expected`) when only the check character is wrong.
    """
    match = _LICENCE_ID_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValidationError(
            f"{field} must be 1.2.156.3005.2.<type code>.<issuer USCC>.<serial>.<version>.<check>, got {text!r}",
            code="ids.bad_licence_id", field=field,
        )
    type_code, issuer, serial, version, check = match.groups()
    _check_parts(type_code, issuer, version, field)
    expected = _check_character(_advance(_prefix_product(type_code + issuer), serial + version))
    if check != expected:
        raise ValidationError(
            f"{field}: check character is {check!r} but the identifier gives {expected!r}",
            code="ids.bad_check_character", field=field, expected=expected, actual=check,
        )
    return LicenceId(type_code, issuer, serial, version, check)


def format_licence_id(type: str, issuer: str, serial: str, version: str) -> str:
    """The identifier text for these parts with its check character appended.

    `serial` is 1..20 digits, `version` 3 digits 001..999. Raises ValidationError
    "ids.bad_licence_id" naming the bad part.
    """
    if not isinstance(serial, str) or not _SERIAL_RE.fullmatch(serial):
        raise ValidationError(f"licence serial must be 1..20 digits, got {serial!r}", code="ids.bad_licence_id", field="serial")
    if not isinstance(version, str) or not _VERSION_RE.fullmatch(version):
        raise ValidationError(f"licence version must be 3 digits, got {version!r}", code="ids.bad_licence_id", field="version")
    _check_parts(type, issuer, version, "id")
    payload = type + issuer + serial + version
    return f"{LICENCE_ID_PREFIX}{type}.{issuer}.{serial}.{version}.{mod37_36_check(payload)}"


def next_version(licence_id: LicenceId | str) -> str:
    """The identifier of the next version (version + 1, new check character).

    Raises ValidationError "ids.bad_licence_id" / "ids.bad_check_character" for a bad text,
    and "ids.version_exhausted" after version 999.
    """
    parsed = licence_id if isinstance(licence_id, LicenceId) else parse_licence_id(licence_id)
    number = int(parsed.version) + 1
    if number > MAX_VERSION:
        raise ValidationError(f"licence {parsed.text} is at version {MAX_VERSION}; no further version exists", code="ids.version_exhausted", field="id")
    return format_licence_id(parsed.type, parsed.issuer, parsed.serial, f"{number:03d}")


def _check_parts(type_code: str, issuer: str, version: str, field: str) -> None:
    try:
        validate_type_code(type_code, f"{field}.type")
        validate_uscc(issuer, f"{field}.issuer")
    except ValidationError as exc:
        raise ValidationError(str(exc), code="ids.bad_licence_id", field=field, part=exc.field) from exc
    if version == "000":
        raise ValidationError(f"{field}: version must be 001..999, got 000", code="ids.bad_licence_id", field=field, part=f"{field}.version")
