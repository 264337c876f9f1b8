"""Validator sets and the integer two-thirds rule (docs/spec/blocks.md §3).

A validator is a consensus public key with a name, a region and a voting power. Thresholds use
integers only: a set of signers is a quorum when `3 * power > 2 * total`. The set's hash goes into
every block header (`validators_hash`, `next_validators_hash`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ledger.crypto import PublicKey
from ledger.errors import LedgerError, ValidationError
from ledger.fields import expect_keys, expect_object, get_int, get_list, get_str
from ledger.hashing import hash_object

NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
MAX_VALIDATORS = 256
MAX_POWER = 1 << 40


@dataclass(frozen=True)
class Validator:
    name: str
    region: str
    public_key: PublicKey
    power: int

    @property
    def key_id(self) -> bytes:
        return self.public_key.key_id

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "region": self.region, "public_key": self.public_key.to_json(), "power": self.power}

    @classmethod
    def from_json(cls, obj: object, where: str) -> Validator:
        obj = expect_object(obj, where)
        expect_keys(obj, where, ("name", "region", "public_key", "power"))
        name = get_str(obj, "name", where, pattern=NAME_RE, max_len=32)
        region = get_str(obj, "region", where, pattern=NAME_RE, max_len=32)
        power = get_int(obj, "power", where, minimum=1, maximum=MAX_POWER)
        try:
            public_key = PublicKey.from_json(obj["public_key"])
        except LedgerError as exc:
            raise ValidationError(f"{where}.public_key: {exc}", code="validation.public_key", field=f"{where}.public_key") from exc
        return cls(name, region, public_key, power)


@dataclass(frozen=True)
class ValidatorSet:
    """An ordered, non-empty set of validators with distinct names and keys."""

    validators: tuple[Validator, ...]
    total_power: int = field(init=False)
    _by_key: dict[bytes, Validator] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.validators:
            raise ValidationError("a validator set needs at least one validator", code="validators.empty", field="validators")
        if len(self.validators) > MAX_VALIDATORS:
            raise ValidationError(f"at most {MAX_VALIDATORS} validators", code="validators.too_many", field="validators")
        by_key: dict[bytes, Validator] = {}
        names: set[str] = set()
        for v in self.validators:
            if v.key_id in by_key:
                raise ValidationError(f"validator {v.name} repeats a key", code="validators.duplicate_key", field="validators")
            if v.name in names:
                raise ValidationError(f"validator name {v.name} repeats", code="validators.duplicate_name", field="validators")
            by_key[v.key_id] = v
            names.add(v.name)
        object.__setattr__(self, "_by_key", by_key)
        object.__setattr__(self, "total_power", sum(v.power for v in self.validators))

    def __iter__(self) -> Iterator[Validator]:
        return iter(self.validators)

    def __len__(self) -> int:
        return len(self.validators)

    def get(self, key_id: bytes) -> Validator | None:
        return self._by_key.get(key_id)

    def is_quorum(self, power: int) -> bool:
        """More than two thirds of the total voting power (`3 * power > 2 * total`)."""
        return 3 * power > 2 * self.total_power

    def hash(self) -> bytes:
        return hash_object("validators", self.to_json())

    def to_json(self) -> list[dict[str, object]]:
        return [v.to_json() for v in self.validators]

    @classmethod
    def from_json(cls, obj: object, where: str = "validators") -> ValidatorSet:
        if not isinstance(obj, list):
            raise ValidationError(f"{where} must be a list", code="validation.type", field=where)
        items = get_list({"v": obj}, "v", where, max_items=MAX_VALIDATORS)
        return cls(tuple(Validator.from_json(item, f"{where}[{i}]") for i, item in enumerate(items)))

    @classmethod
    def of(cls, validators: Iterable[Validator]) -> ValidatorSet:
        return cls(tuple(validators))
