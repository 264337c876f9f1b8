"""Unified social credit codes (统一社会信用代码, GB 32100-2015) of issuing departments.

An issuer certificate carries its organisation's USCC (docs/spec/pki.md §4.3). The algorithm
lives in ledger.ids; this module adapts it to certificates: it accepts the code as typed
(surrounding spaces, lower case) and raises CertError "cert.bad_uscc". Pure functions: no I/O.
It never guesses a correction for a bad code.
"""

from __future__ import annotations

from certs.errors import CertError
from ledger import ids
from ledger.errors import ValidationError

ALPHABET = ids.USCC_ALPHABET
WEIGHTS = ids.USCC_WEIGHTS
LENGTH = ids.USCC_LENGTH


def _as_cert_error(exc: ValidationError) -> CertError:
    fields = {k: v for k, v in exc.fields.items() if k != "field"}
    return CertError(str(exc), code="cert.bad_uscc", **fields)


def compute_check_character(body: str) -> str:
    """The check character for the first 17 characters of a USCC (GB 32100-2015 §5).

    Precondition: `body` is 17 characters of `ALPHABET`; raises CertError "cert.bad_uscc"
    otherwise.
    """
    try:
        return ids.compute_uscc_check(body)
    except ValidationError as exc:
        raise _as_cert_error(exc) from exc


def validate_uscc(code: str) -> str:
    """Return the canonical (upper-case, stripped) form of `code` if it is a valid USCC.

    Checks length 18, the GB 32100 character set and the check character (position 18).
    Raises CertError "cert.bad_uscc" saying which of these failed.
    """
    if not isinstance(code, str):
        raise CertError("USCC must be a string", code="cert.bad_uscc", actual=repr(code))
    try:
        return ids.validate_uscc(code.strip().upper())
    except ValidationError as exc:
        raise _as_cert_error(exc) from exc


def complete_uscc(body: str) -> str:
    """`body` (17 characters) followed by its check character: a valid USCC.

    Raises CertError "cert.bad_uscc" for a body of the wrong length or with a bad character.
    """
    return body + compute_check_character(body)
