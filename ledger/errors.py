"""The one exception base of the `ledger` package and its direct subclasses.

Every error carries a stable machine-readable `code` (used later by the API to map to HTTP
errors) and the fields that explain it. Verification functions raise these; they never return
False.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error raised by `ledger`.

    `code` is stable and machine-readable ("encoding.duplicate_key"); the message is for people
    and names the field or position at fault.
    """

    code: str = "ledger.error"

    def __init__(self, message: str, *, code: str | None = None, **fields: object) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.fields = fields

    def __getattr__(self, name: str) -> object:
        fields = self.__dict__.get("fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(name)

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly description: code, message and the explaining fields."""
        out: dict[str, object] = {"code": self.code, "message": str(self)}
        for key, value in self.fields.items():
            out[key] = value.hex() if isinstance(value, bytes) else value
        return out


class EncodingError(LedgerError):
    """Input is not canonical eledger JSON (docs/spec/encoding.md)."""

    code = "encoding.invalid"


class CryptoError(LedgerError):
    """A key, suite or signature is malformed or does not verify."""

    code = "crypto.invalid"


class ProofError(LedgerError):
    """A Merkle inclusion, consistency or state proof does not verify."""

    code = "proof.invalid"


class ValidationError(LedgerError):
    """A transaction, block, header or commit is malformed (names the field)."""

    code = "validation.invalid"


class StoreError(LedgerError):
    """The on-disk store is missing, damaged, or inconsistent with its genesis."""

    code = "store.invalid"


class AuditError(LedgerError):
    """The chain fails re-verification; carries the first bad `height` and why."""

    code = "audit.failed"
