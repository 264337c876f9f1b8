"""Identities in state: who holds a signing key, in which role and region, and when it is valid.

A transaction names its signer by key id; execution resolves it here. Genesis registers region
administrators and validators; governance transactions (later) register departments and staff.
State key: b"id/key/" + key id; value: canonical JSON (docs/spec/state.md §4). A revoked key
also records `revoked_at` (block time of the revocation, docs/spec/domain.md §3), so a seal
signature made before the revocation can still be judged (domain.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from functools import lru_cache

from ledger.crypto import PublicKey
from ledger.encoding import decode, encode
from ledger.errors import ValidationError
from ledger.fields import expect_keys, expect_object, get_int, get_str
from ledger.validators import NAME_RE

KEY_PREFIX = b"id/key/"
NO_EXPIRY = (1 << 53) - 1


class Role(str, Enum):
    REGION_ADMIN = "region-admin"
    ISSUER = "issuer"
    STAFF = "staff"
    PARTNER = "partner"
    VALIDATOR = "validator"
    OBSERVER = "observer"


class KeyStatus(str, Enum):
    ACTIVE = "active"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Identity:
    public_key: PublicKey
    role: Role
    region: str
    name: str
    not_before: int
    not_after: int
    status: KeyStatus = KeyStatus.ACTIVE
    revoked_at: int | None = None

    def __post_init__(self) -> None:
        if (self.status is KeyStatus.REVOKED) != (self.revoked_at is not None):
            raise ValidationError("a revoked identity needs revoked_at, an active one must not have it", code="validation.identity", field="identity.revoked_at")

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "public_key": self.public_key.to_json(),
            "role": self.role.value,
            "region": self.region,
            "name": self.name,
            "not_before": self.not_before,
            "not_after": self.not_after,
            "status": self.status.value,
        }
        if self.revoked_at is not None:
            out["revoked_at"] = self.revoked_at
        return out

    def to_bytes(self) -> bytes:
        return encode(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> Identity:
        """Parse a stored identity (cached: execution resolves the same signers again and again)."""
        return _parse_identity(data)

    @classmethod
    def _parse(cls, data: bytes) -> Identity:
        where = "identity"
        obj = expect_object(decode(data), where)
        expect_keys(obj, where, ("public_key", "role", "region", "name", "not_before", "not_after", "status"), ("revoked_at",))
        return cls(
            public_key=PublicKey.from_json(obj["public_key"]),
            role=Role(get_str(obj, "role", where, max_len=32)),
            region=get_str(obj, "region", where, pattern=NAME_RE, max_len=32),
            name=get_str(obj, "name", where, max_len=128),
            not_before=get_int(obj, "not_before", where),
            not_after=get_int(obj, "not_after", where),
            status=KeyStatus(get_str(obj, "status", where, max_len=16)),
            revoked_at=get_int(obj, "revoked_at", where) if "revoked_at" in obj else None,
        )

    def revoke(self, at: int) -> Identity:
        """This identity revoked from time `at` (ms) on. Raises ValidationError
        "identity.revoked" if it is already revoked."""
        if self.status is KeyStatus.REVOKED:
            raise ValidationError(f"key of {self.name} was already revoked at {self.revoked_at}", code="identity.revoked", field="key_id")
        return replace(self, status=KeyStatus.REVOKED, revoked_at=at)

    def usable_at(self, at: int) -> bool:
        """True when `at` is inside the key's window and before any revocation."""
        return self.not_before <= at <= self.not_after and (self.revoked_at is None or at < self.revoked_at)

    def check_usable(self, at: int) -> None:
        """Raise ValidationError unless the key is active and `at` (ms) is inside its window."""
        if self.status is not KeyStatus.ACTIVE:
            raise ValidationError(f"signer key of {self.name} is {self.status.value}", code="tx.signer_revoked", field="tx.signer")
        if not self.not_before <= at <= self.not_after:
            raise ValidationError(f"signer key of {self.name} is not valid at {at}", code="tx.signer_expired", field="tx.signer")


@lru_cache(maxsize=4096)
def _parse_identity(data: bytes) -> Identity:
    return Identity._parse(data)


def key_state_key(key_id: bytes) -> bytes:
    return KEY_PREFIX + key_id
