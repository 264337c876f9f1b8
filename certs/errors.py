"""The one exception base of the `certs` package.

`CertError` carries a stable machine-readable `code` ("cert.expired", "cert.wrong_role", ...)
and the fields that explain it (which certificate, which time, what was expected). Every
validation in `certs` raises it; nothing here returns False. The list of codes is normative:
docs/spec/pki.md §6. Messages never contain private key material.
"""

from __future__ import annotations

from ledger.errors import LedgerError

#: Every code `certs` raises, with what it means (docs/spec/pki.md §6).
CODES: dict[str, str] = {
    "cert.malformed": "not a certificate of the eledger profile (missing or bad field)",
    "cert.bad_name": "a region or subject name does not follow the naming rules",
    "cert.bad_uscc": "a unified social credit code is malformed or its check character is wrong",
    "cert.bad_validity": "a requested validity window is empty or outlives its issuer",
    "cert.expired": "a certificate in the chain is past its not_after",
    "cert.not_yet_valid": "a certificate in the chain is before its not_before",
    "cert.untrusted_issuer": "the chain does not lead to any of the trusted region roots",
    "cert.bad_signature": "a certificate's signature does not verify under its issuer's key",
    "cert.not_a_ca": "a certificate used as issuer is not a CA allowed to sign certificates",
    "cert.path_too_long": "the chain violates a CA's path length constraint",
    "cert.wrong_usage": "key usage or extended key usage does not match the role's profile",
    "cert.wrong_role": "the certificate's role is not the one required",
    "cert.wrong_region": "the certificate's region is not the one required",
    "cert.region_mismatch": "the certificate claims a region other than its issuing CA's",
    "cert.policy_violation": "the RFC 5280 path validator rejected the chain",
    "cert.exists": "refusing to overwrite an existing file or CA",
    "cert.not_found": "an expected file or directory does not exist",
}


class CertError(LedgerError):
    """Base of every error raised by `certs`.

    `code` is one of `CODES`; `fields` name what was wrong (for example `subject`, `at`,
    `not_after`, `expected`, `actual`, `path`).
    """

    code = "cert.malformed"

    def __init__(self, message: str, *, code: str, **fields: object) -> None:
        if code not in CODES:
            raise ValueError(f"unknown certs error code {code!r}")
        super().__init__(message, code=code, **fields)
