"""The one spelling of each kind of value in the API's schemas (docs/spec/api.md §1.2,
encoding.md §4): binary values, identifiers, dates, times, region names.

Each is a pydantic type whose JSON schema states it as exactly as JSON Schema can: a `pattern`
for the characters and lengths, and where a check character decides what no pattern can say, a
`format` naming the rule (`uscc`, `licence-type`, `licence-id`, `date`; api.md §1.2). The node
reads every such value with the ledger's own parsers; these types say what those accept. Must
never hold a pattern looser than the parser it stands for.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from ledger.calendar import LAST_DATED_MS
from ledger.crypto.suites import SIGNATURE_SIZE
from ledger.encoding import MAX_SAFE_INTEGER, b64encode
from ledger.ids import USCC_ALPHABET, USCC_LENGTH
from ledger.tx import CHAIN_ID_RE
from ledger.validators import NAME_RE

# -- binary values (encoding.md §4) -------------------------------------------------------------

_B64_CHAR = "[A-Za-z0-9_-]"
#: The last character of a text whose final group holds 1 (2 characters) or 2 bytes (3): its
#: bits beyond the data are zero, so each value has one spelling.
_B64_LAST = {1: "[AQgw]", 2: "[AEIMQUYcgkosw048]"}


def b64_pattern(size: int | None = None) -> str:
    """The JSON Schema pattern of base64url without padding in its one spelling: of exactly
    `size` bytes, or of any length (None)."""
    if size is None:
        return f"^(?:{_B64_CHAR}{{4}})*(?:{_B64_CHAR}{{2}}{_B64_LAST[2]}|{_B64_CHAR}{_B64_LAST[1]})?$"
    groups, rest = divmod(size, 3)
    if rest == 0:
        return f"^{_B64_CHAR}{{{4 * groups}}}$"
    return f"^{_B64_CHAR}{{{4 * groups + rest}}}{_B64_LAST[rest]}$"


def _to_b64(value: object) -> object:
    return b64encode(value) if isinstance(value, (bytes, bytearray)) else value


def b64(size: int | None = None) -> Any:
    """The type of a binary value: base64url without padding (bytes are encoded), of `size`
    bytes when given."""
    what = "binary value" if size is None else f"{size} bytes"
    return Annotated[str, Field(pattern=b64_pattern(size), description=f"{what}, base64url without padding (encoding.md §4)"), BeforeValidator(_to_b64)]


B64_PATTERN = b64_pattern()
B64 = b64()
#: A hash or a key id (hashing.md, crypto.md §4).
Bytes32 = b64(32)
#: A signature value: 64 bytes in every suite (crypto.md §3).
SignatureValue = b64(SIGNATURE_SIZE)

# -- numbers --------------------------------------------------------------------------------------

MAX_TIME = MAX_SAFE_INTEGER
#: An integer of the canonical encoding that is not negative (encoding.md §5).
Count = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)]
Time = Annotated[int, Field(ge=0, le=MAX_TIME, description="ms since 1970-01-01T00:00:00Z")]
#: A time a licence is judged at: it falls on a date (domain.md §1), 9999-12-31 (UTC+8) at the latest.
DatedTime = Annotated[int, Field(ge=0, le=LAST_DATED_MS, description="ms since 1970-01-01T00:00:00Z, at most the end of 9999-12-31 (UTC+8)")]


def decimal_pattern(maximum: int) -> str:
    """A regular expression (unanchored) of the integers 0..`maximum` in their one decimal
    spelling (api.md §1.1): no sign, no leading zero."""

    def digits(count: int) -> str:
        return "" if count == 0 else "[0-9]" if count == 1 else f"[0-9]{{{count}}}"

    top = str(maximum)
    choices = ["0"] + ([f"[1-9][0-9]{{0,{len(top) - 2}}}" if len(top) > 2 else "[1-9]"] if len(top) > 1 else [])
    for i, digit in enumerate(top):  # as many digits as `top`: its first i, then a smaller one
        low, high = (1 if i == 0 else 0), int(digit) - 1
        if high >= low:
            choices.append(top[:i] + (str(low) if high == low else f"[{low}-{high}]") + digits(len(top) - i - 1))
    if maximum > 0:
        choices.append(top)
    return "|".join(choices)


# -- identifiers (domain.md §2, §10.1) ----------------------------------------------------------

_USCC = f"[{USCC_ALPHABET}]{{{USCC_LENGTH}}}"
USCC_PATTERN = f"^{_USCC}$"
TYPE_CODE_PATTERN = f"^{_USCC}[0-9]{{3}}$"
VERSION_PATTERN = r"^(00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})$"
LICENCE_ID_PATTERN = f"^1\\.2\\.156\\.3005\\.2\\.{_USCC}[0-9]{{3}}\\.{_USCC}\\.[0-9]{{1,20}}\\.{VERSION_PATTERN[1:-1]}\\.[0-9A-Z]$"
#: A use record's name `<node>:<seq>`, seq at most 2^53 − 1.
USE_ID_PATTERN = f"^[a-z0-9][a-z0-9-]{{0,31}}:({decimal_pattern(MAX_SAFE_INTEGER)})$"
REGION_PATTERN = f"^{NAME_RE.pattern}$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
#: The formats of what no pattern states (api.md §1.2): a USCC's check character; a type code is
#: its authority's USCC and 3 digits; a licence id has its type code, issuer USCC and MOD 37,36
#: check character right; a date exists (RFC 3339 full-date).
USCC_FORMAT = "uscc"
TYPE_CODE_FORMAT = "licence-type"
LICENCE_ID_FORMAT = "licence-id"
DATE_FORMAT = "date"

Uscc = Annotated[str, Field(pattern=USCC_PATTERN, json_schema_extra={"format": USCC_FORMAT}, description="a unified social credit code (GB 32100)")]
TypeCode = Annotated[str, Field(pattern=TYPE_CODE_PATTERN, json_schema_extra={"format": TYPE_CODE_FORMAT}, description="a licence type code (domain.md §2)")]
LicenceIdText = Annotated[str, Field(pattern=LICENCE_ID_PATTERN, json_schema_extra={"format": LICENCE_ID_FORMAT}, description="a licence identifier (domain.md §2)")]
Date = Annotated[str, Field(pattern=DATE_PATTERN, json_schema_extra={"format": DATE_FORMAT}, description="a calendar date, YYYY-MM-DD (UTC+8, domain.md §1)")]
Region = Annotated[str, Field(pattern=REGION_PATTERN, max_length=32, description="a region name of the genesis")]
ChainId = Annotated[str, Field(pattern=f"^{CHAIN_ID_RE.pattern}$", description="the genesis chain id")]
