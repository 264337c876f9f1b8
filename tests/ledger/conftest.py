"""Shared fixtures: a small chain with real keys, a real CA certificate per region and helpers."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ledger.crypto import PrivateKey
from ledger.genesis import Genesis, Region
from ledger.kv import MemoryKV
from ledger.tx import Tx
from ledger.validators import Validator, ValidatorSet
from node.local import LocalNetwork

REGIONS = ("beijing", "tianjin", "hebei", "xiongan")
GENESIS_TIME = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def ca_cert_der(region: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"test {region} root")])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(start).not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


@dataclass
class Net:
    genesis: Genesis
    validator_keys: list[PrivateKey]
    admin_keys: dict[str, PrivateKey]

    def anchor(self, region: str = "beijing", label: str = "", document: bytes | None = None) -> Tx:
        doc = document if document is not None else os.urandom(32)
        return Tx.create(self.genesis.chain_id, "document.anchor", {"document_hash": doc, "label": label}, self.admin_keys[region], os.urandom(16))

    def local(self, kv=None) -> LocalNetwork:
        from ledger.chain import Chain

        return LocalNetwork(Chain(kv if kv is not None else MemoryKV(), self.genesis), self.validator_keys)


def make_net(powers: tuple[int, ...] = (1, 1, 1, 1), chain_id: str = "test-chain") -> Net:
    validator_keys = [PrivateKey.generate() for _ in powers]
    admin_keys = {r: PrivateKey.generate() for r in REGIONS}
    validators = ValidatorSet.of(
        Validator(f"{REGIONS[i % 4]}-{i + 1}", REGIONS[i % 4], k.public_key, p) for i, (k, p) in enumerate(zip(validator_keys, powers))
    )
    regions = tuple(Region(r, ca_cert_der(r), (admin_keys[r].public_key,)) for r in REGIONS)
    return Net(Genesis(chain_id, GENESIS_TIME, regions, validators), validator_keys, admin_keys)


@pytest.fixture(scope="session")
def net() -> Net:
    return make_net()
