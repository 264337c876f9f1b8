"""The genesis document: the trust anchor of a chain (docs/spec/blocks.md §5).

Genesis names the chain, its start time, the regions with their root CA certificates and
administrator keys, the initial validators and the consensus parameters. Its hash is the
`previous_hash` of block 1, so every block is bound to one genesis; an offline verifier holding
only this document can check any proof from the chain. Stored as canonical bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ledger.crypto import PublicKey
from ledger.encoding import decode, encode
from ledger.errors import LedgerError, ValidationError
from ledger.fields import expect_keys, expect_object, get_bytes, get_int, get_list, get_str
from ledger.files import write_new_file
from ledger.hashing import hash_object
from ledger.tx import CHAIN_ID_RE, MAX_TX_BYTES
from ledger.validators import NAME_RE, ValidatorSet

MAX_GENESIS_BYTES = 4 * 1024 * 1024
MAX_REGIONS = 64
MAX_ADMINS = 32
MAX_CA_CERT_BYTES = 16 * 1024

@dataclass(frozen=True)
class Params:
    """Consensus-wide limits (enforced by execution and block validation)."""

    max_block_txs: int = 2000
    max_block_bytes: int = 4 * 1024 * 1024
    max_tx_bytes: int = MAX_TX_BYTES

    def to_json(self) -> dict[str, object]:
        return {"max_block_txs": self.max_block_txs, "max_block_bytes": self.max_block_bytes, "max_tx_bytes": self.max_tx_bytes}

    @classmethod
    def from_json(cls, obj: object, where: str = "genesis.params") -> Params:
        from ledger.block import MAX_BLOCK_BYTES, MAX_BLOCK_TXS

        obj = expect_object(obj, where)
        expect_keys(obj, where, ("max_block_txs", "max_block_bytes", "max_tx_bytes"))
        return cls(
            get_int(obj, "max_block_txs", where, minimum=1, maximum=MAX_BLOCK_TXS),
            get_int(obj, "max_block_bytes", where, minimum=1024, maximum=MAX_BLOCK_BYTES),
            get_int(obj, "max_tx_bytes", where, minimum=256, maximum=MAX_TX_BYTES),
        )

@dataclass(frozen=True)
class Region:
    """A participating region: its root CA certificate (DER) and its administrators' keys."""

    name: str
    ca_cert: bytes
    admins: tuple[PublicKey, ...]

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "ca_cert": self.ca_cert, "admins": [k.to_json() for k in self.admins]}

    @classmethod
    def from_json(cls, obj: object, where: str) -> Region:
        obj = expect_object(obj, where)
        expect_keys(obj, where, ("name", "ca_cert", "admins"))
        name = get_str(obj, "name", where, pattern=NAME_RE, max_len=32)
        ca_cert = get_bytes(obj, "ca_cert", where, max_size=MAX_CA_CERT_BYTES)
        admins = []
        for i, item in enumerate(get_list(obj, "admins", where, max_items=MAX_ADMINS)):
            try:
                admins.append(PublicKey.from_json(item))
            except LedgerError as exc:
                raise ValidationError(f"{where}.admins[{i}]: {exc}", code="genesis.bad_admin_key", field=f"{where}.admins[{i}]") from exc
        if not admins:
            raise ValidationError(f"{where}.admins needs at least one key", code="genesis.no_admin", field=f"{where}.admins")
        return cls(name, ca_cert, tuple(admins))

@dataclass(frozen=True)
class Genesis:
    chain_id: str
    genesis_time: int  # milliseconds since the Unix epoch, UTC
    regions: tuple[Region, ...]
    validators: ValidatorSet
    params: Params = Params()
    hash: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [r.name for r in self.regions]
        if not names:
            raise ValidationError("genesis needs at least one region", code="genesis.no_region", field="genesis.regions")
        if len(set(names)) != len(names):
            raise ValidationError("genesis region names repeat", code="genesis.duplicate_region", field="genesis.regions")
        for v in self.validators:
            if v.region not in names:
                raise ValidationError(f"validator {v.name} belongs to unknown region {v.region!r}", code="genesis.unknown_region", field="genesis.validators")
        object.__setattr__(self, "hash", hash_object("genesis", self.to_json()))

    def region(self, name: str) -> Region | None:
        return next((r for r in self.regions if r.name == name), None)

    def to_json(self) -> dict[str, object]:
        return {
            "chain_id": self.chain_id,
            "genesis_time": self.genesis_time,
            "regions": [r.to_json() for r in self.regions],
            "validators": self.validators.to_json(),
            "params": self.params.to_json(),
        }

    def to_bytes(self) -> bytes:
        return encode(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> Genesis:
        obj = expect_object(decode(data, max_bytes=MAX_GENESIS_BYTES), "genesis")
        expect_keys(obj, "genesis", ("chain_id", "genesis_time", "regions", "validators", "params"))
        return cls(
            chain_id=get_str(obj, "chain_id", "genesis", pattern=CHAIN_ID_RE, max_len=50),
            genesis_time=get_int(obj, "genesis_time", "genesis"),
            regions=tuple(Region.from_json(r, f"genesis.regions[{i}]") for i, r in enumerate(get_list(obj, "regions", "genesis", max_items=MAX_REGIONS))),
            validators=ValidatorSet.from_json(obj["validators"], "genesis.validators"),
            params=Params.from_json(obj["params"]),
        )

    def write(self, path: str | Path) -> None:
        """Create `path` (mode 0644) holding `to_bytes()`, fsynced with its directory.

        A genesis is never overwritten. Raises ValidationError "genesis.exists" if `path` exists
        and "genesis.unwritable" for any other OS error (no partial file is left behind).
        """
        p = Path(path)
        try:
            write_new_file(p, self.to_bytes(), 0o644)
        except FileExistsError as exc:
            raise ValidationError(f"genesis {p} already exists; a genesis is never overwritten", code="genesis.exists", field="genesis") from exc
        except OSError as exc:
            raise ValidationError(f"cannot write genesis {p}: {exc.strerror}", code="genesis.unwritable", field="genesis") from exc

    @classmethod
    def read(cls, path: str | Path) -> Genesis:
        p = Path(path)
        try:
            size = p.stat().st_size
        except OSError as exc:
            raise ValidationError(f"cannot read genesis {p}: {exc.strerror}", code="genesis.unreadable", field="genesis") from exc
        if size > MAX_GENESIS_BYTES:
            raise ValidationError(f"genesis {p} is {size} bytes; at most {MAX_GENESIS_BYTES}", code="genesis.too_large", field="genesis")
        return cls.from_bytes(p.read_bytes())
