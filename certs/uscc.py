"""Unified social credit codes (统一社会信用代码, GB 32100-2015) of issuing departments.

An issuer certificate carries its organisation's USCC (docs/spec/pki.md §4.3); this module
checks the code's form and its check character and computes check characters for demo data.
Pure functions: no I/O. It never guesses a correction for a bad code.
"""

from __future__ import annotations

from certs.errors import CertError

#: GB 32100-2015 §4: the 31 code characters; a character's value is its index.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: GB 32100-2015 §5: weights of positions 1..17 (3**i mod 31).
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18

_VALUES = {ch: i for i, ch in enumerate(ALPHABET)}


def compute_check_character(body: str) -> str:
    """The check character for the first 17 characters of a USCC (GB 32100-2015 §5).

    Precondition: `body` is 17 characters of `ALPHABET`; raises CertError "cert.bad_uscc"
    otherwise.
    """
    if len(body) != LENGTH - 1:
        raise CertError(
            f"USCC body must be {LENGTH - 1} characters, got {len(body)}",
            code="cert.bad_uscc",
            actual=body,
        )
    total = 0
    for position, (ch, weight) in enumerate(zip(body, WEIGHTS, strict=True), start=1):
        value = _VALUES.get(ch)
        if value is None:
            raise CertError(
                f"USCC character {ch!r} at position {position} is not allowed; "
                f"use digits and capital letters except I, O, S, V and Z",
                code="cert.bad_uscc",
                actual=body,
                position=position,
            )
        total += value * weight
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str:
    """Return the canonical (upper-case, stripped) form of `code` if it is a valid USCC.

    Checks length 18, the GB 32100 character set and the check character (position 18).
    Raises CertError "cert.bad_uscc" saying which of these failed.
    """
    if not isinstance(code, str):
        raise CertError("USCC must be a string", code="cert.bad_uscc", actual=repr(code))
    canonical = code.strip().upper()
    if len(canonical) != LENGTH:
        raise CertError(
            f"USCC {code!r} has {len(canonical)} characters; a USCC has exactly {LENGTH}",
            code="cert.bad_uscc",
            actual=code,
        )
    expected = compute_check_character(canonical[:-1])
    if canonical[-1] not in _VALUES:
        raise CertError(
            f"USCC check character {canonical[-1]!r} is not allowed",
            code="cert.bad_uscc",
            actual=code,
            position=LENGTH,
        )
    if canonical[-1] != expected:
        raise CertError(
            f"USCC {code!r} has check character {canonical[-1]!r} but its first 17 characters "
            f"give {expected!r}; re-check the code as printed on the business licence",
            code="cert.bad_uscc",
            actual=code,
            expected=expected,
        )
    return canonical


def complete_uscc(body: str) -> str:
    """`body` (17 characters) followed by its check character: a valid USCC.

    Raises CertError "cert.bad_uscc" for a body of the wrong length or with a bad character.
    """
    return body + compute_check_character(body)
